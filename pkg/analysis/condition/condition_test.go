package condition

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConditionsOverANumberAndAList(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		result interface{}
		holds  bool
	}{
		{"result < 0.01", 0.002, true},
		{"result < 0.01", 0.5, false},
		{"result <= 0.01 && result >= 0.0", 0.01, true},
		{"result == 0.0", 0.0, true},
		{"result.all(x, x < 0.01)", []float64{0.001, 0.002}, true},
		{"result.all(x, x < 0.01)", []float64{0.001, 0.2}, false},
		{"result.exists(x, x > 100.0)", []float64{1, 2, 300}, true},
		{"size(result) > 0 && math.greatest(result) < 250.0", []float64{120, 240}, true},
		{"math.greatest(result) < 250.0", []float64{120, 260}, false},
		{"result.all(x, x < 1.0)", []float64{}, true},
	} {
		c, err := Compile(tc.expr)
		require.NoError(t, err, tc.expr)
		holds, err := c.Holds(tc.result)
		require.NoError(t, err, "%s over %v", tc.expr, tc.result)
		assert.Equal(t, tc.holds, holds, "%s over %v", tc.expr, tc.result)
	}
}

// What cannot be a condition is refused when it is compiled (admission answers 422 with it).
func TestWhatIsNotAConditionDoesNotCompile(t *testing.T) {
	for _, expr := range []string{
		"",
		"result <",
		"result + 1.0",           // a number: dyn + double is known to be a double
		"'passed'",               // a string
		"results < 0.01",         // no such variable
		"result < 0.01 ||",       // cut short
		strings.Repeat("(", 200), // nested past the parser's limit
		"result < 0.01 && " + strings.Repeat("result < 0.01 && ", 100) + "true", // too long
	} {
		_, err := Compile(expr)
		assert.Error(t, err, "%q", expr)
	}
}

// A measurement the condition cannot judge is an error, never a pass.
func TestAConditionThatCannotJudgeTheMeasurementIsAnError(t *testing.T) {
	less, err := Compile("result < 0.01")
	require.NoError(t, err)
	_, err = less.Holds([]float64{0.001}) // a list compared with a number
	assert.Error(t, err)
	_, err = less.Holds("0.001")
	assert.Error(t, err, "a string is not a measurement")
	_, err = less.Holds(nil)
	assert.Error(t, err)

	value, err := Compile("result")
	require.NoError(t, err, "dyn: only its value says whether it is a bool")
	_, err = value.Holds(0.5)
	assert.Error(t, err, "a number is not true or false")

	// Work past the cost limit stops with an error.
	heavy, err := Compile("result.all(x, result.all(y, x + y >= 0.0))")
	require.NoError(t, err)
	long := make([]float64, 2000)
	_, err = heavy.Holds(long)
	assert.Error(t, err)
}
