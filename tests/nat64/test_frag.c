#include <criterion/criterion.h>

#include "nat64/frag.h"

Test(frag, placeholder)
{
	cr_assert(1);
}
