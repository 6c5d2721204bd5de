#include "hs_log.h"
