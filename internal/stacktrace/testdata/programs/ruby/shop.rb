# What the OTel Ruby SDK records as exception.stacktrace: Span#record_exception stores
# exception.full_message(highlight: false, order: :top), which prints the causes too.
require 'json'

class PaymentDeclined < StandardError; end

class Gateway
  def charge(raw) # FRAME:rb_charge_def
    JSON.parse(raw) # FRAME:rb_parse
  rescue JSON::ParserError
    raise PaymentDeclined, "amount rejected: #{raw}" # FRAME:rb_charge_raise
  end
end

def checkout(amounts)
  amounts.map { |a| Gateway.new.charge(a) } # FRAME:rb_checkout_block
end

begin
  checkout(['{"amount": 12}', '{oops']) # FRAME:rb_main
rescue StandardError => e
  print e.full_message(highlight: false, order: :top)
end
