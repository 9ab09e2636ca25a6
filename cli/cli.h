/* cli.h — the nn command's subcommands, called by main (nn.c). Each takes its own argv (argv[0]
 * is the subcommand's name) and returns an exit code (cli_util.h). */
#ifndef NN_CLI_H
#define NN_CLI_H

int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_tune(int argc, char **argv);

#endif
