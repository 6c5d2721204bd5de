#include "hs_interval.h"
