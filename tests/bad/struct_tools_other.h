/* struct_tools_other.h — `struct place` again, with another C type for a
 * member than struct_tools.h gives it (struct_defined_twice.dsp). */
#include <stdint.h>

typedef struct {
    double lat;
    double lon;
} Point;

struct place {
    char *name;
    Point at;
    int32_t rank;
};

int64_t score(const struct place *p);
