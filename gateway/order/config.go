package order

import "github.com/lambda/storagecli/config"

// FromConfig returns order id as user.toml describes it: its [order.<id>]
// capacity, expiry and grace, and its keys. The [gateway] key pair is a
// read-write key of the order the configuration serves
// (broker.extra_order_id); the [[order.<id>.keys]] pairs follow it.
func FromConfig(c *config.Config, id string) *Order {
	oc := c.Order(id)
	o := &Order{ID: id, Capacity: int64(oc.Capacity), Expires: oc.Expires.Time, Grace: oc.Grace}
	if id == c.Broker.ExtraOrderID {
		o.Keys = append(o.Keys, Key{AccessKey: c.Gateway.AccessKey, SecretKey: string(c.Gateway.SecretKey)})
	}
	for _, k := range oc.Keys {
		o.Keys = append(o.Keys, Key{AccessKey: k.AccessKey, SecretKey: string(k.SecretKey), ReadOnly: k.ReadOnly})
	}
	return o
}
