/* prefix: see prefix.h. */
#include "nat64/prefix.h"
