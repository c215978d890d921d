// Must NOT compile: a core header seen after postgres.h (ctest checks the
// guard's message, see CMakeLists.txt).
extern "C" {
#include "postgres.h"
}
#include "trajc/trajectory.hpp"
