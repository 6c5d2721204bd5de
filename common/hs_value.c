#include "hs_value.h"
