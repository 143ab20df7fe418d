#include <criterion/criterion.h>

#include "nat64/prefix.h"

Test(prefix, placeholder)
{
	cr_assert(1);
}
