/* pii_cmd.h — `aidctl pii` (pii.c). */
#ifndef AID_AIDCTL_PII_CMD_H
#define AID_AIDCTL_PII_CMD_H

/* argv[0] is "pii". Returns the exit status. */
int pii_main(int argc, char **argv);

#endif
