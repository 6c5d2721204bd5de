#include "hs_time.h"
