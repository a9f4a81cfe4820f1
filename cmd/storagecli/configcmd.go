package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lambda/storagecli/config"
)

func newConfigCmd(g *globalFlags) *cobra.Command {
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "config [key] [value]",
		Short: "Show or change the configuration",
		Long: `Show or change the configuration file (HOME/config/user.toml or --config FILE).

  storagecli config                          print the configuration (secrets masked)
  storagecli config gateway                  print the settings of a section
  storagecli config gateway.address          print one setting
  storagecli config gateway.address 0.0.0.0:9002
                                             change it and save the file

Values are checked against the setting's type (true/false for booleans) and
the whole configuration is validated before the file is written. Saving
rewrites the file in the standard layout: comments of your own are not kept.

Settings: ` + settingsList(),
		Args: maxArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := g.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			show := func(key, v string) string {
				if config.IsSecret(key) && !showSecrets && v != "" {
					return config.Mask
				}
				return v
			}
			switch len(args) {
			case 0:
				if l.missing {
					fmt.Fprintf(cmd.ErrOrStderr(), "# no configuration file at %s: showing the defaults\n", l.path)
				}
				c := l.cfg
				if !showSecrets {
					c = c.Redacted()
				}
				_, err := out.Write(c.TOML(false))
				return err
			case 1:
				v, err := l.cfg.Get(args[0])
				if errors.Is(err, config.ErrUnknownKey) {
					if keys := sectionKeys(args[0]); len(keys) > 0 {
						for _, k := range keys {
							v, _ := l.cfg.Get(k)
							fmt.Fprintf(out, "%s = %s\n", k, show(k, v))
						}
						return nil
					}
				}
				if err != nil {
					return err
				}
				fmt.Fprintln(out, show(args[0], v))
				return nil
			default:
				if err := l.cfg.Set(args[0], args[1]); err != nil {
					return err
				}
				if err := l.cfg.Save(l.path); err != nil {
					return err
				}
				v, _ := l.cfg.Get(args[0])
				fmt.Fprintf(out, "%s = %s (saved to %s)\n", args[0], show(args[0], v), l.path)
				return nil
			}
		},
	}
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print secret values (gateway.secret_key) instead of "+config.Mask)
	return cmd
}

// sectionKeys returns the settings under a section name such as "gateway".
func sectionKeys(section string) []string {
	var keys []string
	for _, k := range config.Keys() {
		if strings.HasPrefix(k.Key, section+".") && !strings.Contains(k.Key, config.OrderIDPlaceholder) {
			keys = append(keys, k.Key)
		}
	}
	return keys
}

func settingsList() string {
	var b strings.Builder
	for _, k := range config.Keys() {
		if strings.HasPrefix(k.Key, "order."+config.OrderIDPlaceholder+".keys.") {
			// Arrays of tables cannot be set from the command line.
			fmt.Fprintf(&b, "\n  %-24s %s (in [[order.<id>.keys]] tables: edit the file)", k.Key, k.Type)
			continue
		}
		fmt.Fprintf(&b, "\n  %-24s %s", k.Key, k.Type)
	}
	return b.String()
}
