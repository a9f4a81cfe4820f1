package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lambda/storagecli/config"
)

// Exit codes.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitNotRunning = 3 // gateway run --status: not running (as LSB init scripts' status)
)

// exitCodeError makes the command exit with code after printing msg (if any).
type exitCodeError struct {
	code int
	msg  string
}

func (e *exitCodeError) Error() string { return e.msg }

// usageError marks an invalid command line (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// globalFlags are the flags every command accepts.
type globalFlags struct {
	home       string
	configFile string
}

// execute runs the command line args and returns the exit code.
func execute(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.msg != "" {
			fmt.Fprintln(stderr, ec.msg)
		}
		return ec.code
	}
	fmt.Fprintf(stderr, "storagecli: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") ||
		strings.HasPrefix(err.Error(), "if any flags in the group") {
		fmt.Fprintln(stderr, "Run 'storagecli --help' for usage.")
		return exitUsage
	}
	return exitError
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "storagecli",
		Short: "storagecli: an S3-compatible gateway to a storage order",
		Long: `storagecli serves an order's storage through an S3-compatible API.

Its configuration is in ~/.lambda_storagecli/config/user.toml (see
'storagecli init' and 'storagecli config'); --home moves ~/.lambda_storagecli.`,
		Version:       versionString(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// Args stays nil: cobra then reports unknown commands.
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.home, "home", "", "storagecli home directory (default ~/"+config.HomeDirName+")")
	pf.StringVar(&g.configFile, "config", "", "configuration file (default HOME/config/user.toml)")
	root.AddCommand(
		newInitCmd(g),
		newConfigCmd(g),
		newGatewayCmd(g),
		newOrderCmd(g),
		newVersionCmd(),
	)
	return root
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{fmt.Errorf("%s: unexpected argument %q", cmd.CommandPath(), args[0])}
	}
	return nil
}

// maxArgs refuses more than n positional arguments with a usage error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return &usageError{fmt.Errorf("%s takes at most %d arguments, got %d", cmd.CommandPath(), n, len(args))}
		}
		return nil
	}
}

// homeDir returns the absolute storagecli home.
func (g *globalFlags) homeDir() (string, error) {
	h := g.home
	if h == "" {
		h = config.DefaultHome()
	}
	return filepath.Abs(h)
}

// configPath returns the configuration file and whether it was given with
// --config.
func (g *globalFlags) configPath(home string) (string, bool) {
	if g.configFile != "" {
		return g.configFile, true
	}
	return config.ConfigPath(home), false
}

// loaded is a configuration and where it came from.
type loaded struct {
	cfg  *config.Config
	home string
	path string
	// missing: there was no file at path and cfg is the default.
	missing bool
}

// load reads the configuration. A missing default file yields the defaults;
// a missing file named with --config is an error.
func (g *globalFlags) load() (*loaded, error) {
	home, err := g.homeDir()
	if err != nil {
		return nil, err
	}
	path, explicit := g.configPath(home)
	cfg, err := config.Load(path)
	switch {
	case err == nil:
		return &loaded{cfg: cfg, home: home, path: path}, nil
	case errors.Is(err, os.ErrNotExist) && !explicit:
		return &loaded{cfg: config.Default(), home: home, path: path, missing: true}, nil
	default:
		return nil, err
	}
}
