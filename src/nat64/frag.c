/* frag: see frag.h. */
#include "nat64/frag.h"
