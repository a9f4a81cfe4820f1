package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/lambda/storagecli/config"
)

func newInitCmd(g *globalFlags) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write the default configuration file",
		Long: `Write the default configuration to HOME/config/user.toml (or --config FILE).
An existing file is kept unless --force is given.

The defaults serve on 127.0.0.1:9002 with the well-known credentials
accesskey / secretkey: change gateway.access_key and gateway.secret_key
before making the gateway reachable from other machines.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := g.homeDir()
			if err != nil {
				return err
			}
			path, _ := g.configPath(home)
			if _, err := os.Stat(path); err == nil && !force {
				return fmt.Errorf("%s already exists; use --force to overwrite it", path)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := config.Default().Save(path); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote the default configuration to %s\n", path)
			fmt.Fprintln(out, "it uses the default credentials: set gateway.access_key and gateway.secret_key (storagecli config KEY VALUE) before exposing the gateway")
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing configuration file")
	return cmd
}
