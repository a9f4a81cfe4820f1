package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lambda/storagecli/config"
)

// Environment variables read by `gateway run --account env`.
const (
	envAccessKey = "STORAGECLI_ACCESS_KEY"
	envSecretKey = "STORAGECLI_SECRET_KEY"
)

// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are deliberately not read: a user
// with real AWS keys in the shell would otherwise serve the order with them.

// overrideFlags are the flags of `gateway run` named after a configuration
// key, with their help: when given, they override the file.
var overrideFlags = []struct{ key, usage string }{
	{"broker.extra_order_id", "order to serve"},
	{"broker.db_path", "local gateway data directory (each order's data in a subdirectory)"},
	{"gateway.address", "address to listen on (host:port)"},
	{"gateway.access_key", "access key clients sign requests with"},
	{"gateway.secret_key", "secret key clients sign requests with (visible in the process list: prefer --account env)"},
	{"gateway.region", "region signatures must be scoped to; empty accepts any region"},
	{"gateway.domain", "domain of virtual-hosted style requests (<bucket>.<domain>); empty: path style only"},
	{"gateway.website_domain", "domain of the website endpoint (<bucket>.<website_domain>); empty: none"},
	{"gateway.no_sync", "acknowledge writes before they are synced to disk (faster, less durable)"},
}

// runFlags are the other flags of `gateway run`.
type runFlags struct {
	account         string
	debug           bool
	daemonize       bool
	status          bool
	stop            bool
	logFile         string
	logFormat       string
	tlsCert         string
	tlsKey          string
	shutdownTimeout time.Duration
	startTimeout    time.Duration
}

func newGatewayCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "The S3 gateway",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newGatewayRunCmd(g))
	return cmd
}

func newGatewayRunCmd(g *globalFlags) *cobra.Command {
	rf := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Serve the S3 API for an order",
		Long: `Serve the S3 API for the order broker.extra_order_id, from the embedded
store in broker.db_path/<order id>, or from an existing S3 service for an
order with an [order.<id>.upstream] table (see docs/upstream.md).

Settings come from the configuration file (HOME/config/user.toml or --config),
then from the environment with --account env, then from the flags named after
configuration keys (--gateway.address, ...), each overriding the one before.
Without a configuration file the defaults are used: 127.0.0.1:9002 with the
default credentials accesskey / secretkey.

One gateway runs per order: a second one for the same order (in the
foreground or with --daemonize) is refused.

  --daemonize   start in the background; prints "gateway is running, pid is N,
                address A" once it accepts connections, or the error and exit
                status 1 if it fails to start. Output goes to --log.file.
  --status      prints "gateway.pid is running, pid is N, address A, order O"
                (exit status 0) or "gateway is not running" (exit status 3).
  --stop        stops the gateway: it finishes the requests in progress (up to
                --shutdown.timeout), then exits.

SIGTERM and SIGINT stop a gateway the same way as --stop.`,
		Example: `  storagecli gateway run --account env --broker.extra_order_id XXX --debug
  storagecli gateway run --account env --broker.extra_order_id XXX --debug --daemonize
  storagecli gateway run --account env --broker.extra_order_id XXX --status
  storagecli gateway run --broker.extra_order_id XXX --stop`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGateway(cmd, g, rf)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&rf.account, "account", "", "'env': take the access and secret key from "+envAccessKey+" and "+envSecretKey+",\n"+
		"and an upstream order's from "+config.EnvUpstreamAccessKey+" and "+config.EnvUpstreamSecretKey+";\n"+
		"the configured keys are kept if neither of a pair is set. Other names are accepted and ignored.")
	for _, o := range overrideFlags {
		addOverrideFlag(f, o.key, o.usage)
	}
	f.BoolVar(&rf.debug, "debug", false, "log every request, and log at debug level")
	f.BoolVar(&rf.daemonize, "daemonize", false, "run in the background (see above)")
	f.BoolVar(&rf.status, "status", false, "report whether the order's gateway is running (exit status 0 if so, 3 if not)")
	f.BoolVar(&rf.stop, "stop", false, "stop the order's running gateway and wait for it to exit")
	f.StringVar(&rf.logFile, "log.file", "", "log file (default HOME/log/gateway.log with --daemonize, standard error otherwise)")
	f.StringVar(&rf.logFormat, "log.format", "auto", "log format: json, console, or auto (json in a log file, console on a terminal)")
	f.StringVar(&rf.tlsCert, "tls.cert", "", "PEM certificate file: with --tls.key, serve HTTPS")
	f.StringVar(&rf.tlsKey, "tls.key", "", "PEM private key file of --tls.cert")
	f.DurationVar(&rf.shutdownTimeout, "shutdown.timeout", 60*time.Second, "how long a stopping gateway lets requests in progress finish before closing their connections")
	f.DurationVar(&rf.startTimeout, "start.timeout", 60*time.Second, "with --daemonize, how long to wait for the gateway to accept connections")
	cmd.MarkFlagsMutuallyExclusive("daemonize", "status", "stop")
	return cmd
}

func addOverrideFlag(f *pflag.FlagSet, key, usage string) {
	for _, k := range config.Keys() {
		if k.Key == key && k.Type == "bool" {
			f.Bool(key, false, usage)
			return
		}
	}
	f.String(key, "", usage)
}

// gatewayConfig is the configuration a gateway command works with.
type gatewayConfig struct {
	*loaded
	order string
	// notes are said in the log once it exists (what was overridden, ...).
	notes []string
}

// resolveConfig loads the file and applies --account env and the override
// flags.
func resolveConfig(cmd *cobra.Command, g *globalFlags, rf *runFlags) (*gatewayConfig, error) {
	l, err := g.load()
	if err != nil {
		return nil, err
	}
	gc := &gatewayConfig{loaded: l}
	if rf.account == "env" {
		ak, sk, src, err := envCredentials(os.Getenv)
		if err != nil {
			return nil, err
		}
		if src == "" {
			gc.notes = append(gc.notes, fmt.Sprintf("--account env: neither %s nor %s is set: using the configured credentials", envAccessKey, envSecretKey))
		} else {
			if err := l.cfg.Set("gateway.access_key", ak); err != nil {
				return nil, fmt.Errorf("%s: %w", src, err)
			}
			if err := l.cfg.Set("gateway.secret_key", sk); err != nil {
				return nil, fmt.Errorf("%s: %w", src, err)
			}
			gc.notes = append(gc.notes, "credentials from the environment ("+src+")")
		}
	}
	if err := applyFlags(l.cfg, cmd.Flags()); err != nil {
		return nil, err
	}
	gc.order = l.cfg.Broker.ExtraOrderID
	if rf.account == "env" {
		taken, err := l.cfg.UpstreamFromEnv(gc.order, os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("--account env: %w", err)
		}
		if taken {
			gc.notes = append(gc.notes, "upstream credentials from the environment ("+config.EnvUpstreamAccessKey+"/"+config.EnvUpstreamSecretKey+")")
		}
	}
	return gc, nil
}

// envCredentials returns the key pair of --account env and the variables it
// came from ("" if neither pair is set).
func envCredentials(getenv func(string) string) (ak, sk, src string, err error) {
	for _, pair := range [][2]string{{envAccessKey, envSecretKey}} {
		ak, sk := getenv(pair[0]), getenv(pair[1])
		switch {
		case ak != "" && sk != "":
			return ak, sk, pair[0] + "/" + pair[1], nil
		case ak != "" || sk != "":
			set, unset := pair[0], pair[1]
			if ak == "" {
				set, unset = unset, set
			}
			return "", "", "", fmt.Errorf("--account env: %s is set but %s is not", set, unset)
		}
	}
	return "", "", "", nil
}

// applyFlags sets the configuration keys given as flags. A relative
// --broker.db_path is relative to the working directory.
func applyFlags(cfg *config.Config, fs *pflag.FlagSet) error {
	for _, o := range overrideFlags {
		key := o.key
		fl := fs.Lookup(key)
		if fl == nil || !fl.Changed {
			continue
		}
		v := fl.Value.String()
		if key == "broker.db_path" && v != "" && !filepath.IsAbs(v) && v[0] != '~' {
			abs, err := filepath.Abs(v)
			if err != nil {
				return err
			}
			v = abs
		}
		if err := cfg.Set(key, v); err != nil {
			return &usageError{fmt.Errorf("--%w", err)}
		}
	}
	return nil
}

func runGateway(cmd *cobra.Command, g *globalFlags, rf *runFlags) error {
	if (rf.tlsCert == "") != (rf.tlsKey == "") {
		return &usageError{errors.New("--tls.cert and --tls.key must be given together")}
	}
	gc, err := resolveConfig(cmd, g, rf)
	if err != nil {
		return err
	}
	switch {
	case rf.status:
		return gatewayStatus(cmd, gc)
	case rf.stop:
		return gatewayStop(cmd, gc, rf)
	case rf.daemonize && !isDaemonChild():
		return daemonize(cmd, gc, rf)
	}
	reload := func() (*config.Config, error) {
		again, err := resolveConfig(cmd, g, rf)
		if err != nil {
			return nil, err
		}
		return again.cfg, nil
	}
	return serveGateway(cmd, gc, rf, reload)
}
