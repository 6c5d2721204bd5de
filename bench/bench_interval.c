/* Benchmark of interval (to be written with the module). */
int main(void)
{
    return 0;
}
