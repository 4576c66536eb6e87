package limayaml

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// ValidateJSONSchema checks the YAML document doc against schema, a JSON schema as JSONSchema
// returns it, with a full draft 2020-12 validator (what editors and python-jsonschema see; the
// rules of Validate go further).
func ValidateJSONSchema(schema, doc []byte) error {
	s, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return fmt.Errorf("cannot read the schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaID, s); err != nil {
		return err
	}
	compiled, err := c.Compile(schemaID)
	if err != nil {
		return fmt.Errorf("cannot compile the schema: %w", err)
	}
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return err
	}
	// Through JSON, so that the validator sees JSON's types (float64 numbers, string keys).
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return err
	}
	return compiled.Validate(inst)
}
