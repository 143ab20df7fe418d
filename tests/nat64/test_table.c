#include <criterion/criterion.h>

#include "nat64/table.h"

Test(table, placeholder)
{
	cr_assert(1);
}
