/* Round-trip text of doubles (see hs_fmt.h). */
#include "hs_fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t hs_fmt_double(double d, int min_prec, char out[HS_FMT_DOUBLE_MAX])
{
    if (!isfinite(d)) {
        int n = snprintf(out, HS_FMT_DOUBLE_MAX, "%g", d);
        return n > 0 ? (size_t)n : 0;
    }
    if (min_prec < 1)
        min_prec = 1;
    if (min_prec > 17)
        min_prec = 17;
    int n = 0;
    for (int prec = min_prec; prec <= 17; prec++) {
        n = snprintf(out, HS_FMT_DOUBLE_MAX, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    /* At most 24 characters ("-1.2345678901234567e-308"): n is in range. */
    size_t len = n > 0 ? (size_t)n : 0;
    if (strpbrk(out, ".e") == NULL) {
        memcpy(out + len, ".0", 3);
        len += 2;
    }
    return len;
}

size_t hs_fmt_double_digits(double d, char digits[HS_FMT_DIGITS_MAX], int *exp10)
{
    digits[0] = '\0';
    *exp10 = 0;
    if (!isfinite(d))
        return 0;
    /* "%.*e" with p digits after the point has p + 1 significant digits. */
    char e[HS_FMT_DOUBLE_MAX];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, d);
        if (strtod(e, NULL) == d)
            break;
    }
    /* e is "[-]d[.ddd]e(+|-)XX". */
    const char *p = e[0] == '-' ? e + 1 : e;
    size_t nd = 0;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    *exp10 = atoi(p + 1);
    return nd;
}
