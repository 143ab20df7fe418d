/* xlat: see xlat.h. */
#include "nat64/xlat.h"
