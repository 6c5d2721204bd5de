/* Pipe mode of the tool runtime (being written). */
#include "pipe.h"

int tool_pipe_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 1;
}
