/* idcard.c — ID number check digit, birth date and the masks of §13. */
#include "idcard.h"

#include <string.h>

static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char check_chars[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};

idcard_err_t idcard_check(const char *s, size_t len, aid_date_t not_after, char out[19],
                          aid_date_t *birth)
{
    if (len != 18)
        return IDCARD_LENGTH;
    char id[19];
    for (int i = 0; i < 18; i++) {
        char c = s[i];
        if (i == 17 && (c == 'x' || c == 'X'))
            c = 'X';
        else if (c < '0' || c > '9')
            return IDCARD_CHARS;
        id[i] = c;
    }
    id[18] = '\0';
    aid_date_t b = idcard_birth(id);
    if (b == 0)
        return IDCARD_BIRTH_DATE;
    if (not_after && b > not_after)
        return IDCARD_FUTURE;
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (id[i] - '0') * weights[i];
    if (check_chars[sum % 11] != id[17])
        return IDCARD_CHECKSUM;
    memcpy(out, id, 19);
    if (birth)
        *birth = b;
    return IDCARD_OK;
}

const char *idcard_strerror(idcard_err_t e)
{
    switch (e) {
    case IDCARD_OK: return "valid";
    case IDCARD_LENGTH: return "ID number must have 18 characters";
    case IDCARD_CHARS: return "ID number must be 17 digits followed by a digit or X";
    case IDCARD_BIRTH_DATE: return "ID number birth date (characters 7-14) is not a real date";
    case IDCARD_FUTURE: return "ID number birth date is after the report date";
    case IDCARD_CHECKSUM: return "ID number check character does not match";
    }
    return "invalid ID number";
}

aid_date_t idcard_birth(const char id[19])
{
    int v[8];
    for (int i = 0; i < 8; i++) {
        if (id[6 + i] < '0' || id[6 + i] > '9')
            return 0;
        v[i] = id[6 + i] - '0';
    }
    return date_make(v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], v[4] * 10 + v[5],
                     v[6] * 10 + v[7]);
}

void idcard_mask(const char *id, size_t len, char *out, size_t outsz)
{
    if (outsz == 0)
        return;
    size_t n = len < outsz - 1 ? len : outsz - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (len == 18 && (i < 6 || i >= 14)) ? id[i] : '*';
    out[n] = '\0';
}

void name_mask(const char *name, char *out, size_t outsz)
{
    if (outsz == 0)
        return;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)name;
    /* keep the first UTF-8 character whole */
    size_t first = 1;
    if (p[0] >= 0xF0) first = 4;
    else if (p[0] >= 0xE0) first = 3;
    else if (p[0] >= 0xC0) first = 2;
    else if (p[0] == 0) first = 0;
    for (size_t i = 0; i < first && p[i] && o + 1 < outsz; i++)
        out[o++] = (char)p[i];
    /* one '*' per remaining character */
    for (size_t i = first; p[i] && o + 1 < outsz; i++)
        if ((p[i] & 0xC0) != 0x80)
            out[o++] = '*';
    out[o] = '\0';
}
