#include "hs_codec.h"
