/* nat64: see nat64.h. */
