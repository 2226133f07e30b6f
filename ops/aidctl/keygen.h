/* keygen.h — `aidctl keygen`: CURVE key pairs for secure mode (ops/SECURITY.md). */
#ifndef AIDCTL_KEYGEN_H
#define AIDCTL_KEYGEN_H

/* Runs `aidctl keygen ...`; argv[0] is "keygen". Returns the exit status. */
int keygen_main(int argc, char **argv);

#endif
