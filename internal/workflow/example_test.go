package workflow_test

import (
	"errors"
	"fmt"

	"nudge/internal/workflow"
)

func ExampleTemplate_Render() {
	t, err := workflow.ParseTemplate(`Habari {{payload.customer_name | first_name}}, balance {{payload.balance | money payload.currency}}. Lang {{payload.language | default "en"}}.`)
	if err != nil {
		panic(err)
	}
	data := map[string]any{"payload": map[string]any{
		"customer_name": "AMINA otieno", "balance": 1500.5, "currency": "KES"}}
	text, err := t.Render(data)
	fmt.Println(text, err)

	_, err = workflow.MustParseTemplate("Hello {{payload.agent_name}}").Render(data)
	var missing *workflow.MissingFieldError
	fmt.Println(errors.As(err, &missing), err)
	// Output:
	// Habari Amina, balance KES 1,500.50. Lang en. <nil>
	// true missing field "payload.agent_name"
}

func ExampleParseCondition() {
	c, err := workflow.ParseCondition(map[string]any{
		"state":             "days_late",
		"payload.days_late": map[string]any{"gte": 5},
		"any": []any{
			map[string]any{"payload.currency": map[string]any{"in": []any{"KES", "UGX"}}},
			map[string]any{"payload.balance": map[string]any{"gt": 10000}},
		},
	})
	if err != nil {
		panic(err)
	}
	ok, _ := c.Eval(map[string]any{"state": "days_late", "payload": map[string]any{"days_late": "7", "currency": "KES"}})
	fmt.Println(ok)
	// Output: true
}

func ExampleCompile() {
	_, problems := workflow.Compile(map[string]any{
		"id": "late-5-days",
		"on": "paygee.loan_state",
		"do": []any{
			map[string]any{"send_whatsapp": map[string]any{"to": "customer", "text": "Hi {{payload.customer_name | uppr}}"}},
			map[string]any{"task": map[string]any{"to": "agent"}},
		},
	})
	for _, p := range problems {
		fmt.Println(p)
	}
	// Output:
	// do[0].send_whatsapp.text: template: unknown filter "uppr"
	// do[1].task: missing text
}
