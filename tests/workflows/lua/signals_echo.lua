local function echo(request)
    return {echoed = request.data.payload, job_id = request.job_id}
end

return { echo = echo }
