package order

import "github.com/lambda/storagecli/config"

// FromConfig returns order id as user.toml describes it: its [order.<id>]
// capacity, expiry and grace, and its keys: the [gateway] key pair,
// read-write, where config.GatewayKeyServes says it belongs to the order,
// then the [[order.<id>.keys]] pairs.
func FromConfig(c *config.Config, id string) *Order {
	oc := c.Order(id)
	o := &Order{ID: id, Capacity: int64(oc.Capacity), Expires: oc.Expires.Time, Grace: oc.Grace}
	if c.GatewayKeyServes(id) {
		o.Keys = append(o.Keys, Key{AccessKey: c.Gateway.AccessKey, SecretKey: string(c.Gateway.SecretKey)})
	}
	for _, k := range oc.Keys {
		o.Keys = append(o.Keys, Key{AccessKey: k.AccessKey, SecretKey: string(k.SecretKey), ReadOnly: k.ReadOnly})
	}
	return o
}
