package web_test

import (
	"reflect"
	"testing"

	"nudge/internal/config"
	"nudge/internal/web"
)

// A workflow of the config file, stored as YAML and compiled again, is the same workflow:
// the database's copy runs exactly what the file says.
func TestStoredWorkflowIsTheFilesWorkflow(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
defaults: {country: KE}
workflows:
  - id: remind
    description: "Reminder: 5 days"
    on: paygee.loan_state
    enabled: false
    if: {state: days_late, payload.days_late: 5, payload.balance: {gt: 0}, any: [{payload.language: sw}, {payload.language: {in: [en, "1"]}}]}
    once_per: "{{payload.loan_id}}:{{payload.days_late}}"
    do:
      - id: first
        if: {payload.x: {exists: false}}
        send_whatsapp:
          to: customer
          text: "Habari {{payload.customer_name | first_name}}: {{payload.balance | money payload.currency}}"
          template: {name: payment_reminder, language: "{{payload.language | default \"en\"}}", params: ["{{payload.customer_name}}", "5", "true", "1.5"]}
      - task:
          to: agent
          text: "Visit. Reply DONE {{task.number}}."
          remind_after: 300ms
          escalate_after: 1
          escalate_to: "+254700000009"
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Workflows[0]
	text, err := web.EncodeWorkflow(w.Source)
	if err != nil {
		t.Fatal(err)
	}
	again, probs := web.CompileYAML(text, w.ID)
	if probs != 0 {
		t.Fatalf("does not compile:\n%s", text)
	}
	if !reflect.DeepEqual(again, w.Source) {
		t.Fatalf("round trip changed the workflow:\n%s\n%#v\n%#v", text, again, w.Source)
	}
	if again, _ := web.EncodeWorkflow(again.(map[string]any)); again != text {
		t.Fatalf("encoding is not stable:\n%s\n%s", text, again)
	}
}
