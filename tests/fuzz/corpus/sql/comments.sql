-- leading
SELECT /* c /* nested */ */ a -- trailing
FROM t /* end */