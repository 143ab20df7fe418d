#include <criterion/criterion.h>

#include "nat64/xlat.h"

Test(xlat, placeholder)
{
	cr_assert(1);
}
