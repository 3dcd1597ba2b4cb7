package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"nudge/internal/paygee"
	"nudge/internal/workflow"
)

// paygeeStep runs paygee.find_customer, create_customer and update_customer. A customer
// that Paygee does not know is an empty result (`found: false`), not an error.
func (e *Engine) paygeeStep(ctx context.Context, st *workflow.Step, data map[string]any) (map[string]any, error) {
	if e.paygee == nil {
		return nil, permanent(fmt.Errorf("%s needs paygee.api_url and paygee.api_key", st.Action))
	}
	args, err := renderMap(st.Args, data)
	if err != nil {
		return nil, err
	}
	var cust paygee.Customer
	found := true
	switch st.Action {
	case workflow.ActionFindCustomer:
		cust, found, err = e.customers.FindCustomer(ctx, str(args["customer_id"]))
	case workflow.ActionCreateCustomer:
		cust, err = e.paygee.CreateCustomer(ctx, args)
	case workflow.ActionUpdateCustomer:
		id := str(args["customer_id"])
		delete(args, "customer_id")
		cust, err = e.paygee.UpdateCustomer(ctx, id, args)
		e.customers.Forget(id)
	default:
		return nil, permanent(fmt.Errorf("unknown action %s", st.Action))
	}
	if err != nil {
		return nil, err
	}
	e.metrics.ProviderAuth.WithLabelValues("paygee").Set(0)
	out := map[string]any{}
	for k, v := range cust {
		out[k] = v
	}
	out["found"] = found
	return out, nil
}

// customerPhone finds a customer's phone through Paygee for `to: customer` when the event
// carries only payload.customer_id. An unknown customer ends the run, it is not retried.
func (e *Engine) customerPhone(ctx context.Context, data map[string]any) (string, error) {
	id := lookupString(data, "payload.customer_id")
	if id == "" {
		return "", permanent(errors.New("no customer phone: payload.customer_phone and payload.customer_id are missing"))
	}
	if e.customers == nil {
		return "", permanent(errors.New("no customer phone: payload.customer_phone is missing and paygee.api_url is not set to look it up"))
	}
	cust, found, err := e.customers.FindCustomer(ctx, id)
	if err != nil {
		return "", err
	}
	if !found {
		return "", permanent(fmt.Errorf("unknown customer %q: Paygee does not know it", id))
	}
	p := strings.TrimSpace(cust.Phone())
	if p == "" {
		return "", permanent(fmt.Errorf("customer %q has no phone in Paygee", id))
	}
	return p, nil
}
