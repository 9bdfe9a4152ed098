package hierarchy

import "strings"

// The DTDL quantitative vocabulary: semantic types (co-types of Telemetry,
// Property, Field ...) name a unit type, and a unit type lists its units. It
// is the same in DTDL v2 (built in), v3 (QuantitativeTypes extension v1) and
// v4 (QuantitativeTypes v2).
var semanticUnitType = map[string]string{
	"Acceleration": "AccelerationUnit", "Angle": "AngleUnit", "AngularAcceleration": "AngularAccelerationUnit",
	"AngularVelocity": "AngularVelocityUnit", "ApparentEnergy": "ApparentEnergyUnit", "ApparentPower": "ApparentPowerUnit",
	"Area": "AreaUnit", "Capacitance": "CapacitanceUnit", "Concentration": "Unitless", "Current": "CurrentUnit",
	"DataRate": "DataRateUnit", "DataSize": "DataSizeUnit", "Density": "DensityUnit", "Distance": "LengthUnit",
	"ElectricCharge": "ChargeUnit", "Energy": "EnergyUnit", "EnergyRate": "PowerUnit", "Force": "ForceUnit",
	"Frequency": "FrequencyUnit", "Humidity": "DensityUnit", "Illuminance": "IlluminanceUnit",
	"Inductance": "InductanceUnit", "IonizingRadiationDose": "IonizingRadiationDoseUnit",
	"Irradiance": "IrradianceUnit", "Latitude": "AngleUnit", "Length": "LengthUnit", "Longitude": "AngleUnit",
	"Luminance": "LuminanceUnit", "Luminosity": "PowerUnit", "LuminousFlux": "LuminousFluxUnit",
	"LuminousIntensity": "LuminousIntensityUnit", "MagneticFlux": "MagneticFluxUnit",
	"MagneticInduction": "MagneticInductionUnit", "Mass": "MassUnit", "MassFlowRate": "MassFlowRateUnit",
	"Power": "PowerUnit", "Pressure": "PressureUnit", "Radioactivity": "RadioactivityUnit",
	"ReactiveEnergy": "ReactiveEnergyUnit", "ReactivePower": "ReactivePowerUnit", "RelativeDensity": "Unitless",
	"RelativeHumidity": "Unitless", "Resistance": "ResistanceUnit", "SoundPressure": "SoundPressureUnit",
	"Temperature": "TemperatureUnit", "Thrust": "ForceUnit", "TimeSpan": "TimeUnit", "Torque": "TorqueUnit",
	"Velocity": "VelocityUnit", "Voltage": "VoltageUnit", "Volume": "VolumeUnit", "VolumeFlowRate": "VolumeFlowRateUnit",
}

// unitTypeUnits lists each unit type's units, space separated.
var unitTypeUnits = map[string]string{
	"AccelerationUnit":          "centimetrePerSecondSquared gForce metrePerSecondSquared",
	"AngleUnit":                 "degreeOfArc minuteOfArc radian secondOfArc turn",
	"AngularAccelerationUnit":   "radianPerSecondSquared",
	"AngularVelocityUnit":       "degreePerSecond radianPerSecond revolutionPerMinute revolutionPerSecond",
	"ApparentEnergyUnit":        "gigavoltAmpereHour kilovoltAmpereHour megavoltAmpereHour voltAmpereHour",
	"ApparentPowerUnit":         "gigavoltAmpere kilovoltAmpere megavoltAmpere millivoltAmpere voltAmpere",
	"AreaUnit":                  "acre hectare squareCentimetre squareFoot squareInch squareKilometre squareMetre squareMillimetre",
	"CapacitanceUnit":           "farad microfarad millifarad nanofarad picofarad",
	"Unitless":                  "partsPerBillion partsPerMillion partsPerQuadrillion partsPerTrillion percent unity",
	"CurrentUnit":               "ampere kiloampere microampere milliampere",
	"DataRateUnit":              "bitPerSecond bytePerSecond exbibitPerSecond exbibytePerSecond gibibitPerSecond gibibytePerSecond kibibitPerSecond kibibytePerSecond mebibitPerSecond mebibytePerSecond tebibitPerSecond tebibytePerSecond yobibitPerSecond yobibytePerSecond zebibitPerSecond zebibytePerSecond",
	"DataSizeUnit":              "bit byte exbibit exbibyte gibibit gibibyte kibibit kibibyte mebibit mebibyte tebibit tebibyte yobibit yobibyte zebibit zebibyte",
	"DensityUnit":               "gramPerCubicMetre kilogramPerCubicMetre microgramPerCubicMetre milligramPerCubicMetre",
	"LengthUnit":                "astronomicalUnit centimetre foot inch kilometre metre micrometre mile millimetre nanometre nauticalMile",
	"ChargeUnit":                "ampereHour coulomb milliampereHour",
	"EnergyUnit":                "britishThermalUnit electronvolt gigajoule gigawattHour joule kiloBritishThermalUnit kilojoule kilowattHour megaelectronvolt megajoule megawattHour milliwattHour terawattHour wattHour",
	"PowerUnit":                 "britishThermalUnitPerHour gigajoulePerHour gigawatt horsepower joulePerHour joulePerSecond kiloBritishThermalUnitPerHour kilojoulePerHour kilojoulePerSecond kilowatt kilowattHourPerYear megajoulePerHour megawatt microwatt milliwatt tonOfRefrigeration watt",
	"ForceUnit":                 "newton ounce pound ton",
	"FrequencyUnit":             "gigahertz hertz kilohertz megahertz millihertz",
	"IlluminanceUnit":           "footcandle lux",
	"InductanceUnit":            "henry microhenry millihenry",
	"IonizingRadiationDoseUnit": "gray microgray microsievert milligray millisievert sievert",
	"IrradianceUnit":            "wattPerSquareMetre",
	"LuminanceUnit":             "candelaPerSquareMetre",
	"LuminousFluxUnit":          "lumen",
	"LuminousIntensityUnit":     "candela",
	"MagneticFluxUnit":          "maxwell weber",
	"MagneticInductionUnit":     "gauss tesla",
	"MassUnit":                  "gram kilogram massPound microgram milligram slug tonne",
	"MassFlowRateUnit":          "gramPerHour gramPerSecond kilogramPerHour kilogramPerSecond massPoundPerHour",
	"PressureUnit":              "bar decapascal hectopascal inchesOfMercury inchesOfWater kilopascal millibar millimetresOfMercury pascal poundPerSquareInch",
	"RadioactivityUnit":         "becquerel gigabecquerel kilobecquerel megabecquerel",
	"ReactiveEnergyUnit":        "gigavoltAmpereReactiveHour kilovoltAmpereReactiveHour megavoltAmpereReactiveHour voltAmpereReactiveHour",
	"ReactivePowerUnit":         "gigavoltAmpereReactive kilovoltAmpereReactive megavoltAmpereReactive millivoltAmpereReactive voltAmpereReactive",
	"ResistanceUnit":            "kiloohm megaohm milliohm ohm",
	"SoundPressureUnit":         "bel decibel",
	"TemperatureUnit":           "degreeCelsius degreeFahrenheit kelvin",
	"TimeUnit":                  "day hour microsecond millisecond minute nanosecond second year",
	"TorqueUnit":                "newtonMetre",
	"VelocityUnit":              "centimetrePerSecond kilometrePerHour kilometrePerSecond knot metrePerHour metrePerSecond milePerHour milePerSecond",
	"VoltageUnit":               "kilovolt megavolt microvolt millivolt volt",
	"VolumeUnit":                "cubicCentimetre cubicFoot cubicInch cubicMetre fluidOunce gallon litre millilitre",
	"VolumeFlowRateUnit":        "cubicFootPerMinute cubicMetrePerHour cubicMetrePerMinute cubicMetrePerSecond gallonPerHour gallonPerMinute litrePerHour litrePerMinute litrePerSecond millilitrePerHour millilitrePerMinute millilitrePerSecond",
}

// dtdlUnits maps every DTDL unit onto the symbol model files use. Symbols are
// distinct (gForce is gn, not the gram's g; the force pound is lbf, the mass
// pound lb) so a unit never reads as another; only unity has none.
var dtdlUnits = map[string]string{
	// acceleration, angle, angular motion
	"centimetrePerSecondSquared": "cm/s²", "gForce": "gn", "metrePerSecondSquared": "m/s²",
	"degreeOfArc": "°", "minuteOfArc": "′", "radian": "rad", "secondOfArc": "″", "turn": "tr",
	"radianPerSecondSquared": "rad/s²", "degreePerSecond": "°/s", "radianPerSecond": "rad/s",
	"revolutionPerMinute": "rpm", "revolutionPerSecond": "rev/s",
	// apparent and reactive energy and power
	"gigavoltAmpereHour": "GVAh", "kilovoltAmpereHour": "kVAh", "megavoltAmpereHour": "MVAh", "voltAmpereHour": "VAh",
	"gigavoltAmpere": "GVA", "kilovoltAmpere": "kVA", "megavoltAmpere": "MVA", "millivoltAmpere": "mVA", "voltAmpere": "VA",
	"gigavoltAmpereReactiveHour": "Gvarh", "kilovoltAmpereReactiveHour": "kvarh", "megavoltAmpereReactiveHour": "Mvarh",
	"voltAmpereReactiveHour": "varh", "gigavoltAmpereReactive": "Gvar", "kilovoltAmpereReactive": "kvar",
	"megavoltAmpereReactive": "Mvar", "millivoltAmpereReactive": "mvar", "voltAmpereReactive": "var",
	// area
	"acre": "ac", "hectare": "ha", "squareCentimetre": "cm²", "squareFoot": "ft²", "squareInch": "in²",
	"squareKilometre": "km²", "squareMetre": "m²", "squareMillimetre": "mm²",
	// electricity
	"farad": "F", "microfarad": "µF", "millifarad": "mF", "nanofarad": "nF", "picofarad": "pF",
	"ampere": "A", "kiloampere": "kA", "microampere": "µA", "milliampere": "mA",
	"ampereHour": "Ah", "coulomb": "C", "milliampereHour": "mAh",
	"henry": "H", "microhenry": "µH", "millihenry": "mH",
	"kiloohm": "kΩ", "megaohm": "MΩ", "milliohm": "mΩ", "ohm": "Ω",
	"kilovolt": "kV", "megavolt": "MV", "microvolt": "µV", "millivolt": "mV", "volt": "V",
	// ratios
	"partsPerBillion": "ppb", "partsPerMillion": "ppm", "partsPerQuadrillion": "ppq", "partsPerTrillion": "ppt",
	"percent": "%", "unity": "",
	// data
	"bitPerSecond": "bit/s", "bytePerSecond": "B/s", "exbibitPerSecond": "Eibit/s", "exbibytePerSecond": "EiB/s",
	"gibibitPerSecond": "Gibit/s", "gibibytePerSecond": "GiB/s", "kibibitPerSecond": "Kibit/s", "kibibytePerSecond": "KiB/s",
	"mebibitPerSecond": "Mibit/s", "mebibytePerSecond": "MiB/s", "tebibitPerSecond": "Tibit/s", "tebibytePerSecond": "TiB/s",
	"yobibitPerSecond": "Yibit/s", "yobibytePerSecond": "YiB/s", "zebibitPerSecond": "Zibit/s", "zebibytePerSecond": "ZiB/s",
	"bit": "bit", "byte": "B", "exbibit": "Eibit", "exbibyte": "EiB", "gibibit": "Gibit", "gibibyte": "GiB",
	"kibibit": "Kibit", "kibibyte": "KiB", "mebibit": "Mibit", "mebibyte": "MiB", "tebibit": "Tibit", "tebibyte": "TiB",
	"yobibit": "Yibit", "yobibyte": "YiB", "zebibit": "Zibit", "zebibyte": "ZiB",
	// density
	"gramPerCubicMetre": "g/m³", "kilogramPerCubicMetre": "kg/m³", "microgramPerCubicMetre": "µg/m³", "milligramPerCubicMetre": "mg/m³",
	// length
	"astronomicalUnit": "au", "centimetre": "cm", "foot": "ft", "inch": "in", "kilometre": "km", "metre": "m",
	"micrometre": "µm", "mile": "mi", "millimetre": "mm", "nanometre": "nm", "nauticalMile": "nmi",
	// energy
	"britishThermalUnit": "BTU", "electronvolt": "eV", "gigajoule": "GJ", "gigawattHour": "GWh", "joule": "J",
	"kiloBritishThermalUnit": "kBTU", "kilojoule": "kJ", "kilowattHour": "kWh", "megaelectronvolt": "MeV",
	"megajoule": "MJ", "megawattHour": "MWh", "milliwattHour": "mWh", "terawattHour": "TWh", "wattHour": "Wh",
	// power
	"britishThermalUnitPerHour": "BTU/h", "gigajoulePerHour": "GJ/h", "gigawatt": "GW", "horsepower": "hp",
	"joulePerHour": "J/h", "joulePerSecond": "J/s", "kiloBritishThermalUnitPerHour": "kBTU/h", "kilojoulePerHour": "kJ/h",
	"kilojoulePerSecond": "kJ/s", "kilowatt": "kW", "kilowattHourPerYear": "kWh/yr", "megajoulePerHour": "MJ/h",
	"megawatt": "MW", "microwatt": "µW", "milliwatt": "mW", "tonOfRefrigeration": "TR", "watt": "W",
	// force
	"newton": "N", "ounce": "ozf", "pound": "lbf", "ton": "tonf",
	// frequency
	"gigahertz": "GHz", "hertz": "Hz", "kilohertz": "kHz", "megahertz": "MHz", "millihertz": "mHz",
	// light
	"footcandle": "fc", "lux": "lx", "wattPerSquareMetre": "W/m²", "candelaPerSquareMetre": "cd/m²",
	"lumen": "lm", "candela": "cd",
	// radiation
	"gray": "Gy", "microgray": "µGy", "microsievert": "µSv", "milligray": "mGy", "millisievert": "mSv", "sievert": "Sv",
	"becquerel": "Bq", "gigabecquerel": "GBq", "kilobecquerel": "kBq", "megabecquerel": "MBq",
	// magnetism
	"maxwell": "Mx", "weber": "Wb", "gauss": "G", "tesla": "T",
	// mass and mass flow
	"gram": "g", "kilogram": "kg", "massPound": "lb", "microgram": "µg", "milligram": "mg", "slug": "slug", "tonne": "t",
	"gramPerHour": "g/h", "gramPerSecond": "g/s", "kilogramPerHour": "kg/h", "kilogramPerSecond": "kg/s", "massPoundPerHour": "lb/h",
	// pressure
	"bar": "bar", "decapascal": "daPa", "hectopascal": "hPa", "inchesOfMercury": "inHg", "inchesOfWater": "inH₂O",
	"kilopascal": "kPa", "millibar": "mbar", "millimetresOfMercury": "mmHg", "pascal": "Pa", "poundPerSquareInch": "psi",
	// sound
	"bel": "bel", "decibel": "dB",
	// temperature
	"degreeCelsius": "°C", "degreeFahrenheit": "°F", "kelvin": "K",
	// time
	"day": "d", "hour": "h", "microsecond": "µs", "millisecond": "ms", "minute": "min", "nanosecond": "ns", "second": "s", "year": "yr",
	// torque, velocity
	"newtonMetre":         "N·m",
	"centimetrePerSecond": "cm/s", "kilometrePerHour": "km/h", "kilometrePerSecond": "km/s", "knot": "kn",
	"metrePerHour": "m/h", "metrePerSecond": "m/s", "milePerHour": "mph", "milePerSecond": "mi/s",
	// volume and volume flow
	"cubicCentimetre": "cm³", "cubicFoot": "ft³", "cubicInch": "in³", "cubicMetre": "m³", "fluidOunce": "fl oz",
	"gallon": "gal", "litre": "l", "millilitre": "ml",
	"cubicFootPerMinute": "ft³/min", "cubicMetrePerHour": "m³/h", "cubicMetrePerMinute": "m³/min", "cubicMetrePerSecond": "m³/s",
	"gallonPerHour": "gal/h", "gallonPerMinute": "gal/min", "litrePerHour": "l/h", "litrePerMinute": "l/min",
	"litrePerSecond": "l/s", "millilitrePerHour": "ml/h", "millilitrePerMinute": "ml/min", "millilitrePerSecond": "ml/s",
}

// unitFits reports whether unit is one of the semantic type's units.
func unitFits(semantic, unit string) bool {
	for _, u := range strings.Fields(unitTypeUnits[semanticUnitType[semantic]]) {
		if u == unit {
			return true
		}
	}
	return false
}
