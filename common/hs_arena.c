#include "hs_arena.h"
