/* table: see table.h. */
#include "nat64/table.h"
