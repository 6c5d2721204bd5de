/* Pipe mode of the tool runtime (being written). */
#include "pipe.h"
