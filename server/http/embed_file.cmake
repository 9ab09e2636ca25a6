# Writes OUT: a C file defining `const char NAME[]` with the bytes of IN (a text file).
file(READ ${IN} text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\"" text "${text}")
file(WRITE ${OUT} "/* generated from ${IN} by embed_file.cmake; do not edit */\nconst char ${NAME}[] =\n\"${text}\";\n")
