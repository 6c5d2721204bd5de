/*
 * Text of doubles that reads back to the same double: the shortest of
 * printf's "%.*g" forms that strtod turns into the same value.
 */
#ifndef HS_FMT_H
#define HS_FMT_H

#include <stddef.h>

/* Room hs_fmt_double needs, NUL included ("-2.2250738585072014e-308" and ".0" fit). */
#define HS_FMT_DOUBLE_MAX 32
/* Room for the digits of hs_fmt_double_digits, NUL included. */
#define HS_FMT_DIGITS_MAX 18

/*
 * The smallest precision for hs_fmt_double, which gives the shortest text.
 * A larger one keeps %g's fixed notation for more magnitudes: with 15,
 * 123000.0 is "123000.0" rather than "1.23e+05".
 */
#define HS_FMT_SHORTEST 1

/*
 * Writes finite d as "%.*g" with the smallest precision p, min_prec <= p <=
 * 17, whose text strtod reads back as d (p = 17 always does), and appends
 * ".0" when that text would read as an integer ("2" -> "2.0", "-0" ->
 * "-0.0"), so that it stays a float. min_prec is clamped to 1..17.
 * Non-finite values are written as %g writes them ("inf", "-inf", "nan",
 * "-nan"); callers whose format has no such values handle them first.
 * Returns the length written, NUL excluded.
 */
size_t hs_fmt_double(double d, int min_prec, char out[HS_FMT_DOUBLE_MAX]);

/*
 * The shortest decimal significand of finite d that reads back as d: its
 * digits (1 to 17, no sign, no trailing zeros; zero is "0") and the power of
 * ten of the first digit, so that |d| is read back from the text
 * "D.DDDDe<exp10>". Returns the number of digits, and 0 (with digits "")
 * when d is not finite.
 */
size_t hs_fmt_double_digits(double d, char digits[HS_FMT_DIGITS_MAX], int *exp10);

#endif
