package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/console"
	"github.com/lambda/storagecli/internal/orderstore"
)

// HTTP server limits. There is no overall read or write timeout: an S3
// transfer of several gigabytes may legitimately take hours; the gateway's
// idle timeouts ([gateway] read_idle_timeout, write_idle_timeout) cut off
// transfers that stall.
const (
	readHeaderTimeout = 30 * time.Second
	idleTimeout       = 120 * time.Second
	// defaultMaxHeaderBytes is Caddy's default limit on a request's header
	// block; [gateway] max_header_bytes changes it.
	defaultMaxHeaderBytes = 16 << 10
)

// usageInterval is how often a running gateway publishes its order's usage
// for --status and `order list`.
const usageInterval = 2 * time.Second

// serveGateway runs the gateway in this process until SIGTERM or SIGINT.
// SIGHUP calls reload (which re-reads user.toml and applies the same
// environment and flags) and swaps the order's keys, capacity and expiry.
func serveGateway(cmd *cobra.Command, gc *gatewayConfig, rf *runFlags, reload func() (*config.Config, error)) (err error) {
	ready := &readyNotifier{f: readyPipe()}
	daemon := ready.f != nil
	defer func() {
		if err != nil {
			ready.send("error %v", err)
		}
	}()
	// SIGHUP reloads the order's settings once the gateway serves (below).
	// It is caught from the start, so a hangup while the store opens (which
	// can take a while after a crash) is held for then instead of ending
	// the process, and no hangup from a terminal stops a daemon.
	hups := make(chan os.Signal, 1)
	signal.Notify(hups, syscall.SIGHUP)
	defer signal.Stop(hups)

	// Logging: stderr (the log file when daemonized), or --log.file.
	var logOut io.Writer = cmd.ErrOrStderr()
	logPath := ""
	toFile := daemon
	if rf.logFile != "" && !daemon {
		f, err := openLogFile(rf.logFile)
		if err != nil {
			return err
		}
		defer f.Close()
		logOut, logPath, toFile = f, rf.logFile, true
	} else if daemon {
		logPath = rf.logFile
		if logPath == "" {
			logPath = config.GatewayLogFile(gc.home)
		}
	}
	log, err := newLogger(logOut, rf.logFormat, toFile, rf.debug)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck

	cfg := gc.cfg
	if err := cfg.Validate(); err != nil {
		return err
	}
	// One gateway per order.
	lock, err := acquireLock(gc.home, gc.order, lockWait)
	if err != nil {
		return err
	}
	defer lock.release()

	if gc.missing {
		log.Info("no configuration file: starting with the defaults", zap.String("config", gc.path),
			zap.String("address", cfg.Gateway.Address))
	}
	for _, n := range gc.notes {
		log.Info(n)
	}
	if cfg.UsesDefaultCredentials() {
		log.Warn("using the default credentials (access key \"" + cfg.Gateway.AccessKey + "\"): anyone who knows them can use this gateway; set gateway.access_key and gateway.secret_key")
	}
	if rf.account != "" && rf.account != "env" {
		log.Debug("--account is accepted for compatibility; only 'env' has an effect", zap.String("account", rf.account))
	}

	in := instance{PID: os.Getpid(), Order: gc.order, LogFile: logPath, Started: time.Now().UTC(),
		ShutdownTimeout: rf.shutdownTimeout}
	if err := lock.publish(in); err != nil {
		return err
	}

	var tlsConfig *tls.Config
	if rf.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(rf.tlsCert, rf.tlsKey)
		if err != nil {
			return fmt.Errorf("--tls.cert/--tls.key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	st, loc, err := orderstore.Open(cfg, gc.home, gc.order, orderstore.Options{NoSync: cfg.Gateway.NoSync, Logger: log.Named("store")})
	if err != nil {
		return fmt.Errorf("open the store in %s: %w", orderstore.Locate(cfg, gc.home, gc.order), err)
	}
	dataDir := loc.String()
	defer func() {
		if cerr := st.Close(); cerr != nil {
			log.Error("closing the store", zap.Error(cerr))
			if err == nil {
				err = cerr
			}
		}
		if err == nil {
			log.Info("gateway stopped")
		}
	}()

	ord := orderstore.Order(cfg, gc.order)
	stopLifecycle := orderstore.StartLifecycle(st, func() time.Duration { return ord.LifecycleDay }, log.Named("lifecycle"))
	defer stopLifecycle()
	keys, err := orderstore.Encryption(cfg, gc.home, gc.order, loc)
	if err != nil {
		return err
	}
	h, err := gateway.New(gateway.Options{
		Encryption:    keys,
		SSECPlainHTTP: cfg.Gateway.SSECPlainHTTP,
		Store:         st,
		Order:         ord,
		Region:        cfg.Gateway.Region,
		Domain:        cfg.Gateway.Domain,
		WebsiteDomain: cfg.Gateway.WebsiteDomain,
		Logger:        log.Named("s3"),
		Debug:         rf.debug,
		Limits:        orderstore.Limits(cfg),
	})
	if err != nil {
		return err
	}
	s3 := http.Handler(h)
	if cfg.Gateway.Console {
		con, err := console.New(console.Options{Gateway: h, Path: cfg.Gateway.ConsolePath, Region: cfg.Gateway.Region,
			Domain: cfg.Gateway.Domain, Logger: log.Named("console")})
		if err != nil {
			return err
		}
		s3 = con.Wrap(h)
	}
	s3 = h.WithWebsites(s3) // website hosts never reach the console or the S3 API
	startPprof(log)
	var active sync.WaitGroup
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			active.Add(1)
			defer active.Done()
			s3.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes(cfg),
		TLSConfig:         tlsConfig,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}

	ln, err := net.Listen("tcp", cfg.Gateway.Address)
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	addr := ln.Addr().String()
	in.Address, in.Scheme = addr, scheme
	if err := lock.publish(in); err != nil {
		ln.Close()
		return err
	}

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	var inMu sync.Mutex // in and the lock file
	publishUsage := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		u, err := h.Usage(ctx)
		if err != nil {
			log.Warn("reading the order's usage", zap.Error(err))
			return
		}
		o := h.Order()
		inMu.Lock()
		defer inMu.Unlock()
		in.Usage = &servedUsage{Bytes: u.Bytes, Objects: u.Objects, Capacity: u.Capacity, Expires: o.Expires,
			State: o.State(time.Now()).String(), At: time.Now().UTC()}
		if err := lock.publish(in); err != nil {
			log.Warn("publishing the order's usage", zap.Error(err))
		}
	}
	publishUsage()
	stopUsage, usageDone := make(chan struct{}), make(chan struct{})
	defer func() { close(stopUsage); <-usageDone }()
	go func() {
		defer close(usageDone)
		t := time.NewTicker(usageInterval)
		defer t.Stop()
		for {
			select {
			case <-stopUsage:
				return
			case <-t.C:
				publishUsage()
			case <-hups:
				reloadOrder(log, h, gc.order, reload)
				publishUsage()
			}
		}
	}()

	served := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			// ServeTLS (unlike a tls.NewListener) also offers HTTP/2.
			served <- srv.ServeTLS(ln, "", "")
			return
		}
		served <- srv.Serve(ln)
	}()
	log.Info("gateway listening",
		zap.String("address", addr), zap.String("url", scheme+"://"+addr),
		zap.String("order", gc.order), zap.String("data", dataDir),
		zap.String("region", cfg.Gateway.Region), zap.String("domain", cfg.Gateway.Domain),
		zap.Bool("no_sync", cfg.Gateway.NoSync), zap.Bool("debug", rf.debug), zap.Int("pid", os.Getpid()))
	ready.send("ok %s", addr)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case sig := <-sigs:
		log.Info("shutting down: finishing requests in progress", zap.String("signal", sig.String()),
			zap.Duration("timeout", rf.shutdownTimeout))
	}
	ctx, cancel := context.WithTimeout(context.Background(), rf.shutdownTimeout)
	defer cancel()
	go func() {
		// A second signal cuts the drain short.
		select {
		case sig := <-sigs:
			log.Warn("second signal: closing connections now", zap.String("signal", sig.String()))
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("requests still in progress were cut off", zap.Error(err))
		_ = srv.Close()
		// Close does not wait for handlers; give them a moment to see their
		// connections gone before the store closes under them.
		waitTimeout(&active, 10*time.Second)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", zap.Error(err))
	}
	return nil
}

// maxHeaderBytes is the largest request header block the server reads.
// (net/http reads up to 4 KiB more before it answers 431, as in Caddy.)
func maxHeaderBytes(cfg *config.Config) int {
	if n := cfg.Gateway.MaxHeaderBytes; n > 0 {
		return int(n)
	}
	return defaultMaxHeaderBytes
}

// reloadOrder re-reads the configuration and swaps the served order's keys,
// capacity and expiry. Requests in flight finish under the old settings.
// Other settings (address, region, ...) need a restart.
func reloadOrder(log *zap.Logger, h *gateway.Handler, id string, reload func() (*config.Config, error)) {
	cfg, err := reload()
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		log.Error("SIGHUP: configuration not reloaded", zap.Error(err))
		return
	}
	if cfg.Broker.ExtraOrderID != id {
		log.Warn("SIGHUP: broker.extra_order_id changed; a gateway serves one order: restart it to serve another",
			zap.String("order", id), zap.String("configured", cfg.Broker.ExtraOrderID))
		cfg.Broker.ExtraOrderID = id // the [gateway] pair keeps serving this order
	}
	o := orderstore.Order(cfg, id)
	if err := h.SetOrder(o); err != nil {
		log.Error("SIGHUP: configuration not reloaded", zap.Error(err))
		return
	}
	log.Info("SIGHUP: order settings reloaded", zap.String("order", id), zap.Int("keys", len(o.Keys)),
		zap.Int64("capacity", o.Capacity), zap.Time("expires", o.Expires), zap.Duration("grace", o.Grace))
}

// waitTimeout waits for wg, at most d.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
