-- MyMONIT schema, version 002: the 22 SI derived units with special names.

INSERT IGNORE INTO measure_types (name, symbol, quantity) VALUES
    ('radian', 'rad', 'plane angle'),
    ('steradian', 'sr', 'solid angle'),
    ('hertz', 'Hz', 'frequency'),
    ('newton', 'N', 'force'),
    ('pascal', 'Pa', 'pressure'),
    ('joule', 'J', 'energy'),
    ('watt', 'W', 'power'),
    ('coulomb', 'C', 'electric charge'),
    ('volt', 'V', 'voltage'),
    ('farad', 'F', 'capacitance'),
    ('ohm', 'Ω', 'electrical resistance'),
    ('siemens', 'S', 'electrical conductance'),
    ('weber', 'Wb', 'magnetic flux'),
    ('tesla', 'T', 'magnetic flux density'),
    ('henry', 'H', 'inductance'),
    ('degree Celsius', '°C', 'temperature'),
    ('lumen', 'lm', 'luminous flux'),
    ('lux', 'lx', 'illuminance'),
    ('becquerel', 'Bq', 'radioactivity'),
    ('gray', 'Gy', 'absorbed dose'),
    ('sievert', 'Sv', 'equivalent dose'),
    ('katal', 'kat', 'catalytic activity');

INSERT IGNORE INTO schema_migrations (version) VALUES ('002');
