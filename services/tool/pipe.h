/* Pipe mode of the tool runtime (being written). */
#ifndef HS_TOOL_PIPE_H
#define HS_TOOL_PIPE_H

int tool_pipe_main(int argc, char **argv);

#endif
