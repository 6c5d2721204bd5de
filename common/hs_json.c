#include "hs_json.h"
