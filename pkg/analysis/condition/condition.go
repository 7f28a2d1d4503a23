// Package condition compiles and evaluates the successCondition of an analysis check: a CEL expression
// over result, the measurement, a number (a scalar, or a vector of one sample) or a list of numbers (a
// vector of several), that must be true for the measurement to pass.
package condition

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
)

// MaxLength is the longest successCondition accepted, in bytes.
const MaxLength = 1024

// costLimit bounds the work of one evaluation (CEL's cost units: about one per operation and list element):
// a condition over a long vector stops with an error rather than run on.
const costLimit = 100000

// Condition is a compiled successCondition.
type Condition struct {
	source  string
	program cel.Program
}

// env is where conditions are compiled: result, of any type (a number or a list of numbers), CEL's standard
// functions and its math extension (math.greatest, math.least, ...).
var env = func() *cel.Env {
	e, err := cel.NewEnv(cel.Variable("result", cel.DynType), ext.Math())
	if err != nil {
		panic(err)
	}
	return e
}()

// Compile compiles expr; an expression that does not compile, is longer than MaxLength, or is not a
// condition (its type, once known, is not bool) is an error that says why.
func Compile(expr string) (*Condition, error) {
	if len(expr) > MaxLength {
		return nil, fmt.Errorf("%d bytes long; at most %d", len(expr), MaxLength)
	}
	ast, issues := env.Compile(expr)
	if issues.Err() != nil {
		return nil, issues.Err()
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("is a %s, not a condition (a bool)", t)
	}
	program, err := env.Program(ast, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, err
	}
	return &Condition{source: expr, program: program}, nil
}

// String returns the condition as written.
func (c *Condition) String() string { return c.source }

// Holds evaluates the condition for a measurement: a number, or a list of numbers. A condition that
// cannot be evaluated for it (result < 0.01 of a list, a cost past the limit) or is not a bool is an
// error: the measurement is an Error, never a pass.
func (c *Condition) Holds(result interface{}) (bool, error) {
	switch result.(type) {
	case float64, []float64:
	default:
		return false, fmt.Errorf("a measurement is a number or a list of numbers, not %T", result)
	}
	out, _, err := c.program.Eval(map[string]interface{}{"result": result})
	if err != nil {
		return false, fmt.Errorf("%s: %w", c.source, err)
	}
	holds, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%s is %v, not true or false", c.source, out.Value())
	}
	return holds, nil
}
