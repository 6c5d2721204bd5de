#include "hs_streamid.h"
