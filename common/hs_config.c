#include "hs_config.h"
