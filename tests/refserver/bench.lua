-- wrk script for `make bench-refserver`: a small chat completion in dspcc's
-- chat format (one input, one enum output, two demos), temperature 0.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [=[{"model":"dsp-refserver","temperature":0,"max_tokens":64,"messages":[
{"role":"system","content":"Your input fields are:\n1. `ticket_text` (string): The ticket\nYour output fields are:\n1. `category` (enum): The queue\n\nAll interactions will be structured in the following way, with the appropriate values filled in.\n\n[[ ## ticket_text ## ]]\n{ticket_text}\n\n[[ ## category ## ]]\n{category}        # note: the value you produce must exactly match (no extra characters) one of: billing; account; orders; general\n\n[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Classify a customer support ticket."},
{"role":"user","content":"[[ ## ticket_text ## ]]\nI can't log in after resetting my password."},
{"role":"assistant","content":"[[ ## category ## ]]\naccount\n\n[[ ## completed ## ]]"},
{"role":"user","content":"[[ ## ticket_text ## ]]\nWhere is my refund for the duplicate charge?"},
{"role":"assistant","content":"[[ ## category ## ]]\nbilling\n\n[[ ## completed ## ]]"},
{"role":"user","content":"[[ ## ticket_text ## ]]\nI was charged twice this month.\n\nRespond with the corresponding output fields, starting with the field `[[ ## category ## ]]` (must be formatted as a valid enum value), and then ending with the marker for `[[ ## completed ## ]]`."}]}]=]

done = function(summary, latency, requests)
   local errors = summary.errors.status + summary.errors.connect + summary.errors.read
                  + summary.errors.write + summary.errors.timeout
   io.write(string.format("refserver-bench: requests=%d errors=%d\n", summary.requests, errors))
end
