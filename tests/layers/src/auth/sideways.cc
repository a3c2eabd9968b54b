// A sideways include that the layer check must refuse (tests/layers: CMakeLists.txt).
#include "service/engine.h"
