package caddymodule

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/gateway/console"
	"github.com/lambda/storagecli/gateway/store"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("s3gateway", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("s3gateway", httpcaddyfile.Before, "file_server")
}

// parseCaddyfile sets up the handler from Caddyfile tokens.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	s3 := new(Handler)
	if err := s3.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return s3, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	s3gateway [<matcher>] {
//		config     <user.toml>
//		order      <order id>
//		access_key <access key>
//		secret_key <secret key>
//		region     <region>
//		domain     <domain>
//		data       <directory>
//		no_sync    [true|false]
//		debug
//		read_idle_timeout   <duration>
//		write_idle_timeout  <duration>
//		max_uploads         <n>
//		max_uploads_per_key <n>
//		console             off|on|<path>
//		website             <bucket>
//	}
//
// Every subdirective is optional and may be given once; the block may be
// left out entirely (the configuration file's defaults). Placeholders like
// {env.S3_SECRET_KEY} are replaced when the config is loaded; {$VAR} when
// the Caddyfile is parsed.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.Errf("s3gateway takes no arguments on its line, got %q: settings go in its block", d.Val())
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		if seen[sub] {
			return d.Errf("%s already specified", sub)
		}
		seen[sub] = true
		switch sub {
		case "config", "order", "access_key", "secret_key", "region", "domain", "data",
			"read_idle_timeout", "write_idle_timeout", "max_uploads", "max_uploads_per_key", "console", "website":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			if v == "" {
				return d.Errf("%s: empty value", sub)
			}
			if err := checkValue(sub, v); err != nil {
				return d.Errf("%s: %v", sub, err)
			}
			switch sub {
			case "config":
				h.Config = v
			case "order":
				h.Order = v
			case "access_key":
				h.AccessKey = v
			case "secret_key":
				h.SecretKey = v
			case "region":
				h.Region = v
			case "domain":
				h.Domain = v
			case "data":
				h.Data = v
			case "console":
				h.Console = v
			case "website":
				h.Website = v
			default:
				h.limit(sub, v)
			}
		case "no_sync":
			v := true
			if d.NextArg() {
				b, err := strconv.ParseBool(d.Val())
				if err != nil {
					return d.Errf("no_sync: %q is not true or false", d.Val())
				}
				v = b
			}
			if d.NextArg() {
				return d.ArgErr()
			}
			h.NoSync = &v
		case "debug":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.Debug = true
		default:
			return d.Errf("unrecognized s3gateway subdirective %q", sub)
		}
		if d.NextBlock(d.Nesting()) {
			return d.Errf("%s takes no block", sub)
		}
	}
	if (h.AccessKey == "") != (h.SecretKey == "") {
		return d.Err("access_key and secret_key must be given together")
	}
	return nil
}

// checkValue checks the values that can be checked before the config is
// loaded, so a Caddyfile error names its line. Values with placeholders are
// checked when the config is loaded.
func checkValue(sub, v string) error {
	if strings.Contains(v, "{") {
		return nil
	}
	if sub == "console" && v != "on" && v != "off" {
		return console.CheckPath(v)
	}
	if sub == "website" && !store.ValidBucketName(v) {
		return fmt.Errorf("%q is not a bucket name", v)
	}
	key := map[string]string{
		"order":      "broker.extra_order_id",
		"access_key": "gateway.access_key",
		"region":     "gateway.region",
		"domain":     "gateway.domain",
	}[sub]
	if limitKeys[sub] {
		key = "gateway." + sub
	}
	if key == "" {
		return nil
	}
	if err := config.Default().Set(key, v); err != nil {
		return errorWithoutKey(err, key)
	}
	return nil
}

// errorWithoutKey drops the configuration key config.Set puts before its
// messages (the Caddyfile error names the subdirective).
func errorWithoutKey(err error, key string) error {
	msg, ok := strings.CutPrefix(err.Error(), key+": ")
	if !ok {
		return err
	}
	return plainError(msg)
}

// plainError is an error with a fixed message.
type plainError string

// Error implements error.
func (e plainError) Error() string { return string(e) }

// Interface guard.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
